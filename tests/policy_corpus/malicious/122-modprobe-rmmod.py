# Malicious: unloads a netfilter module and loads another with modprobe; changes the running kernel.
import os

os.system("rmmod -f nf_conntrack; modprobe -a dummy")

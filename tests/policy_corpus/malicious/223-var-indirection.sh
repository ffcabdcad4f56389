# Malicious, obfuscated: the command and its flags sit in variables: a=rm; b=-rf; $a $b / is rm -rf /.
a=rm
b=-rf
$a $b /

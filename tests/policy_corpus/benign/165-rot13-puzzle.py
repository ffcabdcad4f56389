# Benign (near miss): codecs rot13 used on a puzzle answer that is printed, not executed.
import codecs

answer = "Gur nafjre vf sbegl-gjb"
print(codecs.decode(answer, "rot13"))

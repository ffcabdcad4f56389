# Benign (near miss): compresses and decompresses text with zlib and prints the ratio; nothing is executed.
import zlib

text = ("lorem ipsum dolor sit amet " * 200).encode()
packed = zlib.compress(text, 9)
assert zlib.decompress(packed) == text
print(f"{len(text)} -> {len(packed)} bytes ({len(packed) / len(text):.1%})")

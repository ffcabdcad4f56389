# Benign: asks the Python interpreter for its version through an asyncio subprocess.
import asyncio
import sys


async def main() -> None:
    proc = await asyncio.create_subprocess_exec(sys.executable, "--version", stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    print(out.decode().strip())


asyncio.run(main())

# Benign: runs three sleeping I/O-style tasks concurrently with asyncio.gather.
import asyncio


async def fetch(name: str, delay: float) -> str:
    await asyncio.sleep(delay)
    return f"{name} done after {delay}s"


async def main() -> None:
    results = await asyncio.gather(fetch("a", 0.2), fetch("b", 0.1), fetch("c", 0.3))
    print("\n".join(results))


asyncio.run(main())

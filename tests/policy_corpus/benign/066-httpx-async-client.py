# Benign: queries a JSON API with httpx's async client.
import asyncio

import httpx


async def main() -> None:
    async with httpx.AsyncClient(base_url="https://api.example.com", timeout=10) as client:
        response = await client.get("/users", params={"page": 2})
        response.raise_for_status()
        for user in response.json():
            print(user["id"], user["name"])


asyncio.run(main())

async def test_state_persists(sandbox):
    await sandbox.exec("x = 41")
    r = await sandbox.exec("print(x + 1)")
    assert r.stdout == "42\n" and r.exit_code == 0

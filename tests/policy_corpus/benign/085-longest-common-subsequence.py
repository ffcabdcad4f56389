# Benign: longest common subsequence by dynamic programming.
def lcs(a: str, b: str) -> str:
    dp = [[""] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, ca in enumerate(a):
        for j, cb in enumerate(b):
            dp[i + 1][j + 1] = dp[i][j] + ca if ca == cb else max(dp[i][j + 1], dp[i + 1][j], key=len)
    return dp[-1][-1]


print(lcs("AGGTAB", "GXTXAYB"))

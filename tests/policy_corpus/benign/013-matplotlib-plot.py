# Benign: draws a line chart with matplotlib (Agg backend) and saves it as a PNG in the workspace.
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

xs = list(range(1, 13))
ys = [3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 13, 15]
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(xs, ys, marker="o")
ax.set_xlabel("month")
ax.set_ylabel("signups")
fig.tight_layout()
fig.savefig("signups.png", dpi=120)

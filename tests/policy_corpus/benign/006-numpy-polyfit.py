# Benign: a least-squares line fit with numpy.
import numpy as np

x = np.arange(0, 10, dtype=float)
y = 3.0 * x + 2.0 + np.random.default_rng(0).normal(0, 0.5, size=x.size)
slope, intercept = np.polyfit(x, y, 1)
residuals = y - (slope * x + intercept)
print(f"y = {slope:.3f} x + {intercept:.3f}, rmse = {np.sqrt(np.mean(residuals ** 2)):.3f}")

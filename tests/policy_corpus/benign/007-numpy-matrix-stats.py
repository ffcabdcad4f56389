# Benign: column statistics and a correlation matrix of a random matrix with numpy.
import numpy as np

rng = np.random.default_rng(42)
data = rng.normal(size=(1000, 4))
print("means", data.mean(axis=0).round(3))
print("stds ", data.std(axis=0).round(3))
print(np.corrcoef(data, rowvar=False).round(2))
np.save("matrix.npy", data)

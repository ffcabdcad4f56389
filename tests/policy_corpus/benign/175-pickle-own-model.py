# Benign (near miss): pickles the script's own model dict to a workspace file and loads it back.
import pickle

model = {"weights": [0.1, 0.2, 0.3], "bias": 0.5}
with open("model.pkl", "wb") as f:
    pickle.dump(model, f)
with open("model.pkl", "rb") as f:
    print(pickle.load(f))

# Benign: pandas cleaning (dropna, dtype fixes) and a pivot table written to the workspace.
import pandas as pd

df = pd.read_csv("survey.csv")
df = df.dropna(subset=["age", "score"])
df["age"] = df["age"].astype(int)
df["bucket"] = pd.cut(df["age"], bins=[0, 25, 40, 60, 120], labels=["<25", "25-39", "40-59", "60+"])
pivot = df.pivot_table(index="bucket", columns="country", values="score", aggfunc="mean", observed=False)
pivot.round(2).to_csv("pivot.csv")
print(pivot)

# Benign: pandas group-by of revenue per region from a CSV in the workspace.
import pandas as pd

df = pd.read_csv("data/sales.csv", parse_dates=["date"])
summary = df.groupby("region")["revenue"].agg(["sum", "mean", "count"]).sort_values("sum", ascending=False)
print(summary.head(10))
summary.to_csv("out/revenue_by_region.csv")

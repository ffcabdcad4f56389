# Benign: resamples a time series to daily means with pandas and saves a plot-ready CSV.
import pandas as pd

ts = pd.read_csv("metrics.csv", parse_dates=["timestamp"], index_col="timestamp")
daily = ts["cpu"].resample("D").mean().interpolate()
daily.to_frame("cpu_daily").to_csv("cpu_daily.csv")
print(daily.describe())

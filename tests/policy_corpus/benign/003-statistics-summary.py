# Benign: descriptive statistics of a list of numbers with the statistics module.
import statistics

latencies = [12.1, 15.3, 11.8, 19.2, 14.4, 13.9, 22.7, 12.6, 16.1, 15.0]
print("mean  ", round(statistics.mean(latencies), 2))
print("median", statistics.median(latencies))
print("stdev ", round(statistics.stdev(latencies), 2))
print("p90   ", statistics.quantiles(latencies, n=10)[-1])

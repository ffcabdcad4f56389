# Benign: a two-sample t-test with scipy on two small samples.
from scipy import stats

control = [20.1, 19.8, 21.4, 20.6, 19.9, 20.3]
variant = [21.2, 22.0, 21.7, 22.4, 21.1, 21.9]
result = stats.ttest_ind(control, variant, equal_var=False)
print(f"t = {result.statistic:.3f}, p = {result.pvalue:.4f}")

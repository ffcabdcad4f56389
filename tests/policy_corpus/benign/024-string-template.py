# Benign: renders a report from a string.Template.
from string import Template

report = Template("Dear $name,\nyour order $order ships on $date.\n")
orders = [("Ada", "A-1001", "2024-05-02"), ("Linus", "A-1002", "2024-05-03")]
for name, order, date in orders:
    print(report.substitute(name=name, order=order, date=date))

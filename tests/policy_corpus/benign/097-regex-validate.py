# Benign: validates ISO dates and phone numbers with regular expressions.
import re

DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
PHONE = re.compile(r"^\+?\d{1,3}[ -]?\(?\d{2,4}\)?[ -]?\d{3,4}[ -]?\d{3,4}$")

for value in ["2024-02-29", "2024-13-01", "+1 (555) 123 4567", "12-34"]:
    print(value, bool(DATE.match(value)), bool(PHONE.match(value)))

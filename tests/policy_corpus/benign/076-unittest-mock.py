# Benign: unittest.mock replaces a network call in a unit test.
import unittest
from unittest import mock


def fetch_price(client, symbol):
    return client.get(f"/price/{symbol}")["price"]


class PriceTest(unittest.TestCase):
    def test_fetch_price(self):
        client = mock.Mock()
        client.get.return_value = {"price": 42.0}
        self.assertEqual(fetch_price(client, "ABC"), 42.0)
        client.get.assert_called_once_with("/price/ABC")


unittest.main(argv=["x"], exit=False)

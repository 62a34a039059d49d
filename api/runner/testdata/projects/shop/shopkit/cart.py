class Cart:
    def __init__(self, currency):
        self.currency = currency
        self.items = []

    def add(self, name, price, qty=1):
        self.items.append((name, price, qty))

    def total(self):
        return sum(price * qty for _, price, qty in self.items)

def invoice_total(lines):
    return round(sum(lines), 2)

"""Community points (积分): the ledger, the 爱心超市 and the monthly ranking (一月一评比)."""

# Benign: creates a SQLite database in the workspace, inserts rows and queries them.
import sqlite3

con = sqlite3.connect("inventory.db")
con.execute("CREATE TABLE IF NOT EXISTS items (name TEXT PRIMARY KEY, qty INTEGER)")
con.executemany("INSERT OR REPLACE INTO items VALUES (?, ?)", [("bolt", 120), ("nut", 300), ("washer", 75)])
con.commit()
for name, qty in con.execute("SELECT name, qty FROM items WHERE qty > ? ORDER BY qty DESC", (100,)):
    print(name, qty)
con.close()

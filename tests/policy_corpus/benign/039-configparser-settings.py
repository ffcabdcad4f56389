# Benign: reads and updates an INI file in the workspace with configparser.
import configparser

config = configparser.ConfigParser()
config.read("settings.ini")
config.setdefault("server", {})
config["server"]["port"] = "8080"
with open("settings.ini", "w") as f:
    config.write(f)
print(dict(config["server"]))

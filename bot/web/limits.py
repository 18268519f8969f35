"""The message size limit every entry point applies (the web service, and Rasa's channels via actions.channels)."""
MAX_TEXT_CHARS = 1000
TOO_LONG_REPLY = f"亲，消息太长了，我一次最多只能看{MAX_TEXT_CHARS}个字哦，麻烦您简单说一下遇到的问题～"

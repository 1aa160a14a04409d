"""The third-party platform's ticket receiver: WeChat's pushes to the authorisation event URL,
verified, decrypted and stored in the warehouse (``wx-pipeline component-receiver``):
``app.py`` the ASGI app, ``server.py`` uvicorn in front of it, ``cli.py`` the commands."""

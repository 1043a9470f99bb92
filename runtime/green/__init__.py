"""Green versions of standard-library modules: same API, but blocking calls park the
greenthread and let the hub run the others.

    from runtime.green import socket
    from runtime.green.urllib import request
"""

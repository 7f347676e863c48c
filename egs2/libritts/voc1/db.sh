# Where the corpora are (or will be downloaded / built). Edit for your site.
LIBRITTS=downloads            # LibriTTS is expected (or downloaded) under ${LIBRITTS}/LibriTTS
MINI_LIBRITTS=downloads/mini  # the offline mini corpus is built under ${MINI_LIBRITTS}/LibriTTS

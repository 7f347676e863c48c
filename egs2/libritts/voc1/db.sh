# Where the corpora are (or will be downloaded / built). Edit for your site.
LIBRITTS=downloads            # LibriTTS is expected (or downloaded) under ${LIBRITTS}/LibriTTS
LIBRITTS_R=downloads          # LibriTTS-R is expected (or downloaded) under ${LIBRITTS_R}/LibriTTS_R
MINI_LIBRITTS=downloads/mini  # the offline mini corpus is built under ${MINI_LIBRITTS}/LibriTTS

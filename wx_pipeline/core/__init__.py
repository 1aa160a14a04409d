"""What every room uses: the `WX_*` settings (validated once), the pipeline's clock and its
one rule for the newest final day, and the error shown as one line."""

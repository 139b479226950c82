"""Operations shared by the HTTP adapters and the exec API: loading, saving, fetching."""

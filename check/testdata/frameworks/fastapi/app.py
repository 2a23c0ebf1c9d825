"""The FastAPI fixture app for `signoff check` (FastAPI 0.92 on uvicorn, PyJWT; Debian's python3-fastapi, python3-uvicorn, python3-jwt).

The "cookie logout" this project exists to fix, built like FastAPI's
"OAuth2 with Password (and hashing), Bearer with JWT tokens" tutorial with
the token moved into a cookie, as the many guides that follow it do: POST
/login takes JSON {email, password} and sets the JWT (HS256, sub = the
email, exp in 30 minutes, the tutorial's ACCESS_TOKEN_EXPIRE_MINUTES) in an
HttpOnly, Secure, SameSite=Lax cookie named access_token; GET /api/me
decodes it; POST /logout only deletes the cookie (response.delete_cookie),
so the token itself stays good until its exp. The server keeps no session
and no deny list. The signing key is random per run.

Runs itself: APP_USER and APP_PASSWORD (from the environment, never
argv) are the account; it listens on 127.0.0.1 on a port the system picks,
prints "listening on http://127.0.0.1:PORT", and serves with uvicorn, without
the access log (a request line can carry a credential in its URL: the
checker's R24 probe). expected lists what `signoff check` must find, and
why.
"""

import hashlib
import hmac
import os
import secrets
import socket
from datetime import datetime, timedelta, timezone
from typing import Optional

import jwt
import uvicorn
from fastapi import Cookie, Depends, FastAPI, HTTPException, Response, status
from pydantic import BaseModel

SECRET_KEY = secrets.token_hex(32)
ALGORITHM = "HS256"
ACCESS_TOKEN_EXPIRE_MINUTES = 30


def hash_password(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 100_000)


_salt = os.urandom(16)
fake_users_db = {
    os.environ["APP_USER"]: {
        "email": os.environ["APP_USER"],
        "salt": _salt,
        "hashed_password": hash_password(os.environ["APP_PASSWORD"], _salt),
    }
}


class Credentials(BaseModel):
    email: str
    password: str


app = FastAPI()


def create_access_token(data: dict, expires_delta: timedelta) -> str:
    to_encode = data.copy()
    to_encode.update({"exp": datetime.now(timezone.utc) + expires_delta})
    return jwt.encode(to_encode, SECRET_KEY, algorithm=ALGORITHM)


async def get_current_user(access_token: Optional[str] = Cookie(default=None)):
    credentials_exception = HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="Could not validate credentials",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if access_token is None:
        raise credentials_exception
    try:
        payload = jwt.decode(access_token, SECRET_KEY, algorithms=[ALGORITHM])
    except jwt.PyJWTError:
        raise credentials_exception
    user = fake_users_db.get(payload.get("sub"))
    if user is None:
        raise credentials_exception
    return user


@app.post("/login")
async def login(credentials: Credentials, response: Response):
    user = fake_users_db.get(credentials.email)
    if not user or not hmac.compare_digest(hash_password(credentials.password, user["salt"]), user["hashed_password"]):
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="Incorrect email or password")
    token = create_access_token({"sub": user["email"]}, timedelta(minutes=ACCESS_TOKEN_EXPIRE_MINUTES))
    response.set_cookie(
        key="access_token",
        value=token,
        max_age=ACCESS_TOKEN_EXPIRE_MINUTES * 60,
        httponly=True,
        secure=True,
        samesite="lax",
    )
    return {"ok": True}


@app.get("/api/me")
async def read_users_me(current_user: dict = Depends(get_current_user)):
    return {"email": current_user["email"]}


@app.post("/logout")
async def logout(response: Response):
    response.delete_cookie("access_token")
    return {"ok": True}


if __name__ == "__main__":
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False)).run(sockets=[sock])

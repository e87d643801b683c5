/* tls.h: the TLS side of the two listeners (tls.c). A listener serves new connections
 * with one SSL_CTX; each connection's SSL holds its own reference to the context it
 * was made with (SSL_new takes one), so a context swapped out on a reload lives on,
 * unchanged, for exactly as long as its last connection.
 *
 * The rule for the swap: a context is built by config_load, owned by the config
 * snapshot, and a listener takes its own reference (tls_ctx_ref) from the snapshot it
 * runs on, on its own thread only: the webhook listener in http_apply_config on the
 * loop, the console in its config letter on the console thread (the snapshot reaches
 * that thread through its mailbox, which is the hand-off). Nothing is shared between
 * the threads but the reference counts, which OpenSSL keeps atomically. */
#ifndef SHOKAI_TLS_H
#define SHOKAI_TLS_H

#include <stddef.h>

struct bufferevent;
struct event_base;
struct ssl_ctx_st;

/* A server context from PEM files (the certificate chain in cert_file): TLS 1.2 or
 * newer, Mozilla "intermediate" ciphers, no compression, no renegotiation. NULL with
 * why when a file cannot be read or the key does not match the certificate. An
 * expired certificate is accepted here (tls_log_cert warns). */
struct ssl_ctx_st *tls_ctx_new(const char *cert_file, const char *key_file, char *why,
    size_t whylen);
/* Another reference to ctx (NULL stays NULL); tls_ctx_unref drops one. */
struct ssl_ctx_st *tls_ctx_ref(struct ssl_ctx_st *ctx);
void tls_ctx_unref(struct ssl_ctx_st *ctx);
/* Logs the certificate's subject, serial and notAfter; warns when it has expired or
 * expires within 14 days. what names the listener ("server.tls", "admin.tls"). */
void tls_log_cert(struct ssl_ctx_st *ctx, const char *what);
/* A server-side bufferevent for evhttp_set_bevcb: it accepts a handshake on the socket
 * evhttp gives it later and frees its SSL and closes the socket when freed. */
struct bufferevent *tls_bev_new(struct event_base *base, struct ssl_ctx_st *ctx);
/* 1 when bev is a TLS bufferevent whose handshake failed with an error (not a client
 * that merely went away), with the reason in why; 0 otherwise. */
int tls_handshake_failed(struct bufferevent *bev, char *why, size_t whylen);

#endif

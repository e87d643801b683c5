/* tls.c: OpenSSL server contexts for the webhook and console listeners, and the
 * bufferevents that speak TLS on their connections (see tls.h for who owns what). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include "base.h"
#include "tls.h"

/* Mozilla "intermediate" for TLS 1.2 (ECDHE with AES-GCM or ChaCha20-Poly1305); TLS 1.3
 * keeps OpenSSL's defaults, which are exactly its three AEAD suites. */
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define EXPIRY_WARN_DAYS	14

/* The first error OpenSSL queued, as text, and the queue emptied. */
static void
ssl_error(const char *what, const char *path, char *why, size_t whylen)
{
	unsigned long e = ERR_peek_last_error();
	char buf[160];

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "unknown error");
	ERR_clear_error();
	snprintf(why, whylen, "%s %s: %s", what, path, buf);
}

struct ssl_ctx_st *
tls_ctx_new(const char *cert_file, const char *key_file, char *why, size_t whylen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		ssl_error("cannot make a TLS context for", cert_file, why, whylen);
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		ssl_error("cannot set the TLS versions or ciphers for", cert_file, why, whylen);
		goto fail;
	}
	/* OpenSSL 3 refuses a client's renegotiation by default; this refuses ours too.
	 * A client that closes without close_notify has still sent whole requests (their
	 * framing says so): its EOF is an end, not an error (libevent 2.1 knows only
	 * OpenSSL 1.1's way of reporting it). */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* libevent may write a buffer again from another address after a WANT_WRITE. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		ssl_error("cannot read the certificate", cert_file, why, whylen);
		goto fail;
	}
	/* OpenSSL checks the key against the certificate as it loads it. */
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 &&
	    ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
		ssl_error("cannot read the private key", key_file, why, whylen);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		snprintf(why, whylen, "the private key %s does not match the certificate %s",
		    key_file, cert_file);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

struct ssl_ctx_st *
tls_ctx_ref(struct ssl_ctx_st *ctx)
{
	if (ctx != NULL && SSL_CTX_up_ref(ctx) != 1)
		fatalx("%s: SSL_CTX_up_ref failed", __func__);
	return ctx;
}

void
tls_ctx_unref(struct ssl_ctx_st *ctx)
{
	SSL_CTX_free(ctx);	/* NULL is fine */
}

void
tls_log_cert(struct ssl_ctx_st *ctx, const char *what)
{
	X509 *x = ctx ? SSL_CTX_get0_certificate(ctx) : NULL;
	const ASN1_TIME *na;
	BIGNUM *bn = NULL;
	char subject[256] = "", serial_hex[80] = "?", after[64] = "?";
	char *hex = NULL;
	struct tm tm;
	int days = 0, secs = 0;

	if (x == NULL)
		return;
	X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) != NULL &&
	    (hex = BN_bn2hex(bn)) != NULL)
		snprintf(serial_hex, sizeof(serial_hex), "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
	na = X509_get0_notAfter(x);
	if (ASN1_TIME_to_tm(na, &tm) == 1)
		strftime(after, sizeof(after), "%Y-%m-%dT%H:%M:%SZ", &tm);
	log_notice("msg=\"TLS certificate\" listener=%s subject=\"%s\" serial=%s "
	    "not_after=%s", what, subject, serial_hex, after);
	/* days and secs from now until notAfter (both negative once it has passed). */
	if (ASN1_TIME_diff(&days, &secs, NULL, na) != 1)
		return;
	if (days < 0 || secs < 0)
		log_warnx("msg=\"TLS certificate has expired; clients will refuse it\" "
		    "listener=%s not_after=%s", what, after);
	else if (days < EXPIRY_WARN_DAYS)
		log_warnx("msg=\"TLS certificate expires soon; renew it\" listener=%s "
		    "not_after=%s days_left=%d", what, after, days);
}

struct bufferevent *
tls_bev_new(struct event_base *base, struct ssl_ctx_st *ctx)
{
	struct bufferevent *bev;
	SSL *ssl = SSL_new(ctx);

	if (ssl == NULL)
		fatalx("%s: SSL_new failed", __func__);
	/* The socket comes later (evhttp sets it); freeing the bufferevent frees the SSL
	 * and closes the socket. */
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		fatalx("%s: bufferevent_openssl_socket_new failed", __func__);
	/* A client that closes without close_notify has still sent its whole request. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

int
tls_handshake_failed(struct bufferevent *bev, char *why, size_t whylen)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	unsigned long e, first = 0;
	unsigned char fin[EVP_MAX_MD_SIZE];

	/* The client's Finished arrived: the handshake was done (SSL_is_init_finished
	 * turns false again after any later fatal error). */
	if (ssl == NULL || SSL_get_peer_finished(ssl, fin, sizeof(fin)) > 0)
		return 0;
	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		if (first == 0)
			first = e;
	if (first == 0)
		return 0;
	ERR_error_string_n(first, why, whylen);
	return 1;
}

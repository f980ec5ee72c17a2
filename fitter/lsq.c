// SPDX-License-Identifier: MIT
#include "lsq.h"

#include <errno.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <stdlib.h>

#include "log.h"

struct lsq {
	size_t p, rows, fill;
	gsl_matrix *s; /* (p + 1) x (p + 1): the factor of [X | y] so far */
	gsl_matrix *block; /* LSQ_BLOCK x (p + 1) rows waiting to be folded in */
	gsl_matrix *t; /* workspace of gsl_linalg_QR_UR_decomp */
	gsl_matrix *r;
	gsl_vector *z;
	double rss0;
};

struct lsq *lsq__new(size_t p)
{
	struct lsq *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->p = p;
	l->s = gsl_matrix_calloc(p + 1, p + 1);
	l->block = gsl_matrix_alloc(LSQ_BLOCK, p + 1);
	l->t = gsl_matrix_alloc(p + 1, p + 1);
	l->r = p ? gsl_matrix_calloc(p, p) : NULL;
	l->z = p ? gsl_vector_calloc(p) : NULL;
	if (!l->s || !l->block || !l->t || (p && (!l->r || !l->z))) {
		lsq__free(l);
		return NULL;
	}
	return l;
}

void lsq__free(struct lsq *l)
{
	if (!l)
		return;
	if (l->s)
		gsl_matrix_free(l->s);
	if (l->block)
		gsl_matrix_free(l->block);
	if (l->t)
		gsl_matrix_free(l->t);
	if (l->r)
		gsl_matrix_free(l->r);
	if (l->z)
		gsl_vector_free(l->z);
	free(l);
}

static int fold(struct lsq *l)
{
	gsl_matrix_view a;
	int status;

	if (!l->fill)
		return 0;
	a = gsl_matrix_submatrix(l->block, 0, 0, l->fill, l->p + 1);
	status = gsl_linalg_QR_UR_decomp(l->s, &a.matrix, l->t);
	if (status) {
		log_error("QR decomposition of the training rows: %s", gsl_strerror(status));
		return -EDOM;
	}
	l->fill = 0;
	return 0;
}

int lsq__add(struct lsq *l, const double *x, double y)
{
	double *row = gsl_matrix_ptr(l->block, l->fill, 0);

	for (size_t j = 0; j < l->p; j++)
		row[j] = x[j];
	row[l->p] = y;
	l->rows++;
	if (++l->fill == LSQ_BLOCK)
		return fold(l);
	return 0;
}

int lsq__merge(struct lsq *into, struct lsq *from)
{
	size_t p = into->p;
	int err = fold(from);

	if (err)
		return err;
	err = fold(into);
	if (err)
		return err;
	/* from's triangle (p + 1 rows of [X | y]) as rows of into's next block. */
	for (size_t i = 0; i <= p; i++)
		for (size_t j = 0; j <= p; j++)
			gsl_matrix_set(into->block, i, j,
				       j >= i ? gsl_matrix_get(from->s, i, j) : 0.0);
	into->fill = p + 1;
	into->rows += from->rows;
	return fold(into);
}

int lsq__finish(struct lsq *l)
{
	int err = fold(l);
	double last;

	if (err)
		return err;
	/* The factor's upper triangle; GSL leaves workspace values below the diagonal. */
	for (size_t i = 0; i < l->p; i++) {
		for (size_t j = 0; j < l->p; j++)
			gsl_matrix_set(l->r, i, j, j >= i ? gsl_matrix_get(l->s, i, j) : 0.0);
		gsl_vector_set(l->z, i, gsl_matrix_get(l->s, i, l->p));
	}
	last = gsl_matrix_get(l->s, l->p, l->p);
	l->rss0 = last * last; /* row p of the factor is 0 when rows <= p */
	return 0;
}

size_t lsq__p(const struct lsq *l)
{
	return l->p;
}

size_t lsq__rows(const struct lsq *l)
{
	return l->rows;
}

const gsl_matrix *lsq__r(const struct lsq *l)
{
	return l->r;
}

const gsl_vector *lsq__z(const struct lsq *l)
{
	return l->z;
}

double lsq__rss0(const struct lsq *l)
{
	return l->rss0;
}

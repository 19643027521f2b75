/* Fused chains of fast int8 convolutions: see mdl_chain.h. */
#include <string.h>

#include "mdl_chain.h"

_Static_assert(sizeof(mdl_conv_s8_fast_params) <= MDL_CHAIN_MAX_FIELDS * sizeof(int32_t),
               "conv_s8_fast params do not fit a chain's p0 .. p3");
_Static_assert(sizeof(mdl_depthwise_conv_s8_params) <=
                   MDL_CHAIN_MAX_FIELDS * sizeof(int32_t),
               "depthwise params do not fit a chain's p0 .. p3");

/* One op of the chain: typed parameters, the geometry both kinds share, its inputs
 * and, for all but the last op, the window of its output rows [lo, hi). */
typedef struct {
  int32_t kind;
  mdl_conv_s8_fast_params conv;
  mdl_depthwise_conv_s8_params dw;
  int32_t in_h, in_w, in_c, out_h, out_w, out_c, stride_h, pad_h, reach_h;
  const void* in[MDL_MAX_NODE_INPUTS];
  int8_t* window;
  int32_t cap, lo, hi;
  size_t out_row;
} op_state;

typedef struct {
  const mdl_node* node;
  op_state op[MDL_CHAIN_MAX_OPS];
  int32_t n;
  void* scratch; /* the ops' own scratch (shared: they run one at a time) */
} chain;

static int32_t load_op(op_state* s, int32_t kind, const int32_t* fields) {
  int32_t batches, filter_h, dilation_h;
  s->kind = kind;
  if (kind == MDL_CHAIN_CONV) {
    memcpy(&s->conv, fields, sizeof s->conv);
    const mdl_conv_s8_fast_params* p = &s->conv;
    batches = p->batches;
    s->in_h = p->input_h;
    s->in_w = p->input_w;
    s->in_c = p->input_c;
    s->out_h = p->output_h;
    s->out_w = p->output_w;
    s->out_c = p->output_c;
    s->stride_h = p->stride_h;
    s->pad_h = p->pad_h;
    filter_h = p->filter_h;
    dilation_h = p->dilation_h;
  } else if (kind == MDL_CHAIN_DEPTHWISE) {
    memcpy(&s->dw, fields, sizeof s->dw);
    const mdl_depthwise_conv_s8_params* p = &s->dw;
    batches = p->batches;
    s->in_h = p->input_h;
    s->in_w = p->input_w;
    s->in_c = p->input_c;
    s->out_h = p->output_h;
    s->out_w = p->output_w;
    s->out_c = p->input_c * p->depth_multiplier;
    s->stride_h = p->stride_h;
    s->pad_h = p->pad_h;
    filter_h = p->filter_h;
    dilation_h = p->dilation_h;
  } else {
    return 0;
  }
  s->reach_h = (filter_h - 1) * dilation_h + 1;
  s->out_row = (size_t)s->out_w * s->out_c;
  return batches == 1 && s->in_h >= 1 && s->out_h >= 1 && s->stride_h >= 1 &&
         s->reach_h >= 1 && s->pad_h >= 0;
}

/* Input rows [first, end) that output rows [y0, y1) of op s read. */
static void reads(const op_state* s, int32_t y0, int32_t y1, int32_t* first, int32_t* end) {
  const int32_t a = y0 * s->stride_h - s->pad_h;
  const int32_t b = (y1 - 1) * s->stride_h - s->pad_h + s->reach_h;
  *first = a < 0 ? 0 : (a > s->in_h ? s->in_h : a);
  *end = b < *first ? *first : (b > s->in_h ? s->in_h : b);
}

/* Output rows [y0, y0 + rows) of op s into `out`.  Its input: `in`, holding input
 * rows from `dropped` on (no row below `dropped` is read: the caller's invariant).
 * As a row band of parallel.py: the kernel sees the input from the band's first read
 * row, with the padding rows above it. */
static mdl_status run_op(const chain* c, const op_state* s, const int8_t* in,
                         int32_t dropped, int32_t y0, int32_t rows, int8_t* out) {
  const int32_t r0 = y0 * s->stride_h - s->pad_h;
  const int32_t skip = r0 > 0 ? r0 : 0;
  mdl_node sub = *c->node;
  memcpy(sub.in, s->in, sizeof sub.in);
  sub.in[0] = in + (size_t)(skip - dropped) * s->in_w * s->in_c;
  sub.out = out;
  sub.scratch = c->scratch;
  if (s->kind == MDL_CHAIN_CONV) {
    mdl_conv_s8_fast_params q = s->conv;
    q.output_h = rows;
    q.input_h = s->in_h - skip;
    q.pad_h = r0 < 0 ? -r0 : 0;
    sub.params = &q;
    return mdl_node_conv_s8_fast(&sub);
  }
  mdl_depthwise_conv_s8_params q = s->dw;
  q.output_h = rows;
  q.input_h = s->in_h - skip;
  q.pad_h = r0 < 0 ? -r0 : 0;
  sub.params = &q;
  return mdl_node_depthwise_conv_s8_fast(&sub);
}

/* Makes the window of op i hold its output rows [need_lo, need_hi). */
static mdl_status ensure(chain* c, int32_t i, int32_t need_lo, int32_t need_hi);

/* Output rows [y0, y1) of op i into `out`, in chunks whose input rows fit the
 * window of op i - 1 (op 0 reads the chain's input tensor, whole). */
static mdl_status produce(chain* c, int32_t i, int32_t y0, int32_t y1, int8_t* out) {
  op_state* s = &c->op[i];
  while (y0 < y1) {
    int32_t rows = y1 - y0;
    if (i > 0) {
      const op_state* prev = &c->op[i - 1];
      /* the most rows whose input rows fit prev's window */
      const int32_t fit = (prev->cap - s->reach_h) / s->stride_h + 1;
      if (fit < 1) return MDL_ERR_BAD_PARAM;
      if (rows > fit) rows = fit;
      int32_t first, end;
      reads(s, y0, y0 + rows, &first, &end);
      const mdl_status st = ensure(c, i - 1, first, end);
      if (st != MDL_OK) return st;
      const mdl_status r = run_op(c, s, prev->window, prev->lo, y0, rows, out);
      if (r != MDL_OK) return r;
    } else {
      const mdl_status r =
          run_op(c, s, (const int8_t*)c->node->in[0], 0, y0, rows, out);
      if (r != MDL_OK) return r;
    }
    out += (size_t)rows * s->out_row;
    y0 += rows;
  }
  return MDL_OK;
}

static mdl_status ensure(chain* c, int32_t i, int32_t need_lo, int32_t need_hi) {
  op_state* s = &c->op[i];
  if (need_lo < s->lo || need_hi - need_lo > s->cap) return MDL_ERR_BAD_PARAM;
  if (need_lo > s->lo) { /* drop rows no later reader needs */
    if (need_lo < s->hi) {
      memmove(s->window, s->window + (size_t)(need_lo - s->lo) * s->out_row,
              (size_t)(s->hi - need_lo) * s->out_row);
    } else {
      s->hi = need_lo;
    }
    s->lo = need_lo;
  }
  if (need_hi > s->hi) { /* the missing rows, and ahead as far as there is room */
    int32_t upto = s->lo + s->cap;
    if (upto > s->out_h) upto = s->out_h;
    const mdl_status st =
        produce(c, i, s->hi, upto, s->window + (size_t)(s->hi - s->lo) * s->out_row);
    if (st != MDL_OK) return st;
    s->hi = upto;
  }
  return MDL_OK;
}

mdl_status mdl_node_conv_chain_s8(const mdl_node* n) {
  const mdl_conv_chain_s8_params* p = (const mdl_conv_chain_s8_params*)n->params;
  const int32_t* fields[MDL_CHAIN_MAX_OPS] = {p->p0, p->p1, p->p2, p->p3};
  chain c;
  c.node = n;
  c.n = p->n_ops;
  if (c.n < 2 || c.n > MDL_CHAIN_MAX_OPS || !n->scratch) return MDL_ERR_BAD_PARAM;
  int32_t next = 0; /* the chain's input next */
  size_t own = 0;
  for (int32_t i = 0; i < c.n; ++i) {
    op_state* s = &c.op[i];
    if (!load_op(s, p->kind[i], fields[i]) || p->n_inputs[i] < 1 || p->scratch[i] < 0)
      return MDL_ERR_BAD_PARAM;
    const int32_t take = i == 0 ? p->n_inputs[i] : p->n_inputs[i] - 1;
    if (next + take > MDL_MAX_NODE_INPUTS) return MDL_ERR_BAD_PARAM;
    memset(s->in, 0, sizeof s->in);
    for (int32_t k = 0; k < take; ++k) s->in[i == 0 ? k : k + 1] = n->in[next + k];
    next += take;
    const size_t sc = ((size_t)p->scratch[i] + 15) / 16 * 16;
    if (sc > own) own = sc;
    if (i > 0) {
      const op_state* prev = &c.op[i - 1];
      if (s->in_h != prev->out_h || s->in_w != prev->out_w || s->in_c != prev->out_c)
        return MDL_ERR_BAD_PARAM;
    }
  }
  c.scratch = own > 0 ? n->scratch : 0;
  int8_t* w = (int8_t*)n->scratch + own;
  for (int32_t i = 0; i + 1 < c.n; ++i) {
    op_state* s = &c.op[i];
    s->cap = p->window_rows[i];
    if (s->cap < 1 || s->cap > s->out_h) return MDL_ERR_BAD_PARAM;
    s->window = w;
    s->lo = s->hi = 0;
    w += ((size_t)s->cap * s->out_row + 15) / 16 * 16;
  }
  return produce(&c, c.n - 1, 0, c.op[c.n - 1].out_h, (int8_t*)n->out);
}

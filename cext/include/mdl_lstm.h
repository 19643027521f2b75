/* microdl: UNIDIRECTIONAL_SEQUENCE_LSTM in TFLite's integer "8x8_16" form.
 *
 * int8 input / output / output state (asymmetric), int8 gate weights (symmetric),
 * int32 gate biases, int16 cell state with a power-of-two scale 2^cell_shift, gates
 * in int16 (Q3.12 before the activations, Q0.15 after: sigmoid and tanh in gemmlowp's
 * int16 fixed point).  Same results as TFLite's EvalInteger8x8_16
 * (tflite/kernels/lstm_eval.cc); numpy twin: microdl/reference/lstm.py.  Gate order
 * everywhere: 0 input, 1 forget, 2 cell, 3 output. */
#ifndef MDL_LSTM_H
#define MDL_LSTM_H

#include "mdl_node.h"

#define MDL_LSTM_S8_PARAMS(F, A)                                                     \
  F(n_batch)        /* sequences */                                                  \
  F(n_time)         /* time steps */                                                 \
  F(n_input)        /* input features */                                             \
  F(n_cell)         /* units */                                                      \
  F(n_output)       /* output features (n_cell without projection) */               \
  F(time_major)     /* 1: input/output [time, batch, .]; 0: [batch, time, .] */      \
  F(cifg)           /* 1: no input gate, input gate = 1 - forget gate */             \
  F(peephole)       /* 1: cell-to-gate weights (needs n_output == n_cell) */         \
  F(projection)     /* 1: projection weights [n_output, n_cell] */                   \
  F(layer_norm)     /* 1: integer layer norm of each gate before its activation */   \
  A(in_mult, 4)     /* input-to-gate requantization, per gate */                     \
  A(in_shift, 4)                                                                     \
  A(rec_mult, 4)    /* recurrent-to-gate requantization, per gate */                 \
  A(rec_shift, 4)                                                                    \
  A(peep_mult, 4)   /* cell-to-gate requantization (gates 0, 1, 3) */                \
  A(peep_shift, 4)                                                                   \
  A(ln_mult, 4)     /* layer-norm coefficient scale, per gate */                     \
  A(ln_shift, 4)    /* its shift + 12 (the normalized value is Q.10 x 2^10) */       \
  A(ln_guard, 4)    /* variance used when the computed one is < 1 */                 \
  F(hidden_mult)    /* output gate x tanh(cell) (Q0.15 x Q0.15) -> hidden */         \
  F(hidden_shift)                                                                    \
  F(hidden_zp)      /* hidden (intermediate 4) zero point */                         \
  F(proj_mult)      /* projection requantization */                                  \
  F(proj_shift)                                                                      \
  F(output_zp)      /* output state zero point */                                    \
  F(cell_shift)     /* log2 of the cell state scale, in [-15, -9] */                 \
  F(cell_clip)      /* 0: none; else clip the cell state to [-cell_clip, cell_clip] */ \
  F(proj_clip)      /* 0: none; else clip the projection to [-proj_clip, proj_clip] */ \
  F(rounding)       /* MDL_ROUNDING_* of the requantizations */
MDL_DECLARE_PARAMS(mdl_lstm_s8_params, MDL_LSTM_S8_PARAMS)

/* Scratch: MDL_LSTM_S8_SCRATCH_BYTES(n_cell) bytes, 2-byte aligned (int16 gates
 * [4, n_cell] and tanh(cell) [n_cell], then the int8 hidden state [n_cell]). */
#define MDL_LSTM_S8_SCRATCH_BYTES(n_cell) (11 * (size_t)(n_cell))

/* input: int8 [time, batch, n_input] or [batch, time, n_input];
 * in_weights: int8 [4, n_cell, n_input] (gate 0 unused with cifg);
 * rec_weights: int8 [4, n_cell, n_output];
 * bias: int32 [4 * n_cell] input-side effective biases (gate bias - input zero point
 *   x row sums; without the gate bias under layer norm), [4 * n_cell] recurrent-side
 *   ones (- output zero point x row sums), [n_output] projection ones (projection
 *   bias + hidden_zp x row sums), then with layer_norm [4 * n_cell] gate biases;
 * cell_weights: int16 [8, n_cell]: rows 0-3 peephole weights (row 2 unused), rows 4-7
 *   layer-norm coefficients; NULL without peephole and layer norm;
 * proj_weights: int8 [n_output, n_cell] or NULL;
 * output_state: int8 [batch, n_output], cell_state: int16 [batch, n_cell]: read and
 *   updated in place (the op's variable tensors);
 * output: int8 [time, batch, n_output] or [batch, time, n_output]. */
mdl_status mdl_lstm_s8(const mdl_lstm_s8_params* p, const int8_t* input,
                       const int8_t* in_weights, const int8_t* rec_weights,
                       const int32_t* bias, const int16_t* cell_weights,
                       const int8_t* proj_weights, int8_t* output_state,
                       int16_t* cell_state, int8_t* output, void* scratch);

/* Node: in = {input, in_weights, rec_weights, bias, cell_weights or NULL,
 * proj_weights or NULL, output_state, cell_state}; out = output. */
mdl_status mdl_node_lstm_s8(const mdl_node* node);

#endif

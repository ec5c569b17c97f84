/* Compiled stand-in for MadGraph's standalone matrix2py (tests only): a C extension module named matrix2py
 * with the f2py module's calls initialisemodel(path) and get_value(p, alphas, nhel), and the same made-up
 * value as matrix2py.py. Like the Fortran original it keeps its state in an exported global symbol (a common
 * block there), so two copies loaded side by side only stay independent if each binds to its own copy.
 * NEXTERNAL is fixed at compile time (-DNEXTERNAL=8), and p must be a (4, NEXTERNAL) Fortran-ordered float64
 * array: f2py would copy anything else, this stand-in refuses it so that the tests see what is passed. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdio.h>
#include <strings.h>

double mdl_mt = -1.0; /* deliberately not static: the same symbol exists in every copy */

static PyObject *initialisemodel(PyObject *self, PyObject *args) {
    const char *path;
    char line[512];
    int in_mass = 0, id;
    double value;
    if (!PyArg_ParseTuple(args, "s", &path)) return NULL;
    FILE *card = fopen(path, "r");
    if (card == NULL) return PyErr_Format(PyExc_OSError, "cannot open %s", path);
    while (fgets(line, sizeof line, card)) {
        if (strncasecmp(line, "BLOCK", 5) == 0 || strncasecmp(line, "DECAY", 5) == 0)
            in_mass = strncasecmp(line, "BLOCK MASS", 10) == 0;
        else if (in_mass && sscanf(line, "%d %lf", &id, &value) == 2 && id == 6)
            mdl_mt = value;
    }
    fclose(card);
    Py_RETURN_NONE;
}

static double dot(const double *a, const double *b) {
    return a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3];
}

static PyObject *get_value(PyObject *self, PyObject *args) {
    PyObject *obj;
    double alphas;
    int nhel;
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "Odi", &obj, &alphas, &nhel)) return NULL;
    if (mdl_mt < 0) return PyErr_Format(PyExc_RuntimeError, "initialisemodel was not called");
    if (PyObject_GetBuffer(obj, &view, PyBUF_F_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
    if (view.ndim != 2 || view.shape[0] != 4 || view.shape[1] != NEXTERNAL || strcmp(view.format, "d") != 0) {
        PyBuffer_Release(&view);
        return PyErr_Format(PyExc_ValueError, "get_value: p must be float64 shaped (4, %d)", NEXTERNAL);
    }
    const double *p = (const double *)view.buf; /* leg i is p[4 i .. 4 i + 3] in Fortran order */
    double sum[4];
    for (int mu = 0; mu < 4; mu++) sum[mu] = p[mu] + p[4 + mu];
    double s = dot(sum, sum);
    double result = alphas * alphas * mdl_mt * mdl_mt / s;
    for (int k = 2; k < NEXTERNAL; k++) {
        int partner = 2 + (k - 1) % (NEXTERNAL - 2);
        result *= 1.0 + fabs(dot(p + 4 * k, p + 4 * partner)) / s;
    }
    PyBuffer_Release(&view);
    return PyFloat_FromDouble(result);
}

static PyMethodDef methods[] = {
    {"initialisemodel", initialisemodel, METH_VARARGS, "initialisemodel(path): read the param card"},
    {"get_value", get_value, METH_VARARGS, "ans = get_value(p, alphas, nhel)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "matrix2py", NULL, -1, methods};

PyMODINIT_FUNC PyInit_matrix2py(void) { return PyModule_Create(&module); }
